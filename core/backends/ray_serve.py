"""The Ray backend: each model of the pack is a Ray Serve application of its own (`tutor-<model>`),
whose replicas run the same handlers as the local backend, so the answers are the same.

- `ModelServer` is one replica: it loads its model once (a replica is ready when its model is),
  runs blocking model work on its own worker threads (never on the replica's event loop), and
  batches concurrent requests with `@serve.batch` under the bot's limits (TUTOR_MAX_BATCH,
  TUTOR_BATCH_WAIT_MS), split further by the padded-token budget (TUTOR_MAX_BATCH_TOKENS) exactly as
  `core.batching.MicroBatcher` splits them.
- `deploy` / `serve_config` put the pack's models on a cluster (`tutor serve-models`).
- `RayBackend` is the bot side: a handle per deployed model, and for each batched command a
  `RemoteBatcher` that gathers the bot's concurrent requests into one call (`ModelServer.batch`), at most
  one batch in flight per replica: one RPC per request made a crowd reach the replica one at a time, so
  `@serve.batch` closed its batches early (32 concurrent /generate ran at 0.33x the local backend).
  A call whose replica died or was unreachable is sent again (model work has no side effects, so a retry
  cannot answer twice: each caller's one awaited call returns once).

The policy, adapters and rendering stay in the bot processes; commands without a model, personal
commands (they read the bot's store) and models the cluster does not serve run on the local backend.
"""
from __future__ import annotations

import asyncio
import logging
import pickle
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from core.backends.local import LocalBackend, batch_runner
from core.batching import MicroBatcher, estimate_tokens, pick_batch
from core.context import TaskContext
from core.errors import UserError
from core.registry import Command, Registry
from core.results import Result
from core.settings import _ENV_NAMES, ConfigError, Settings

log = logging.getLogger("tutor.ray")

APP_PREFIX = "tutor-"
DEPLOYMENT = "TutorModel"
REPLICA_SETTINGS = ("pack", "cache_dir", "memory_budget_mb", "workers", "torch_threads", "device",
                    "max_batch", "max_batch_tokens", "batch_wait_ms", "log_level")
"""What a replica needs to answer as the bot would: never a token or a platform setting."""


def app_name(model_key: str) -> str:
    return APP_PREFIX + model_key


def remote_commands(registry: Registry, pack_models: Any) -> dict[str, list[Command]]:
    """The commands each deployable model serves: those that need a model the pack has, except
    personal ones (they read and write the bot's store)."""
    served: dict[str, list[Command]] = {}
    for command in registry:
        if command.needs_model and not command.personal and command.model_key in pack_models:
            served.setdefault(command.model_key, []).append(command)
    return served


def replica_env(settings: Settings) -> dict[str, str]:
    """The settings a replica is built from, as the environment variables `Settings.from_env` reads."""
    env = {_ENV_NAMES[name]: str(getattr(settings, name)) for name in REPLICA_SETTINGS}
    env.update({f"TUTOR_MODEL_{k.upper()}": v for k, v in settings.model_overrides.items()})
    return env


# ----- the replica -----
@dataclass(frozen=True)
class Failed:
    """An exception a replica hands back as a value, so the caller raises it as the local backend would."""

    error: BaseException


def _portable(error: BaseException) -> BaseException:
    """The exception itself when it survives pickling; else one that says what it was."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:  # noqa: BLE001 - any failure to pickle: send a plain stand-in instead
        return RuntimeError(f"{type(error).__name__}: {error}")


def _reply(output: Any) -> Any:
    if isinstance(output, BaseException):
        if not isinstance(output, UserError):
            log.error("command failed in a replica", exc_info=output)
        return Failed(_portable(output))
    return output


class ModelServer:
    """One replica: one pack entry's model and the commands it serves."""

    def __init__(self, env: dict[str, str], model_key: str) -> None:
        from core.commands import build_registry
        from core.models import ModelStore
        from core.packs import build_pack
        from core.render.cache import FIGURES_PER_THREAD, PerThreadCache

        settings = Settings.from_env(env)
        logging.getLogger("tutor").setLevel(settings.log_level.upper())
        registry = build_registry()
        pack = build_pack(settings, registry)
        self.settings, self.model_key = settings, model_key
        store = ModelStore(settings, pack.twins())
        self.context = TaskContext(settings, pack, store, registry, PerThreadCache(FIGURES_PER_THREAD))
        self.commands = {c.name: c for c in remote_commands(registry, pack.models).get(model_key, [])}
        if not self.commands:
            raise ConfigError(f"The {pack.name} pack has no model `{model_key}` that a command could use.")
        self.pool = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="tutor-replica")
        self.context.models.get(model_key, pack.models[model_key])  # ready means loaded: no slow first answer
        self._batched = {name: self._batch_queue(c) for name, c in self.commands.items()
                         if c.batch_handler and settings.max_batch > 1}

    def _batch_queue(self, command: Command) -> Any:
        from ray import serve

        run = batch_runner(self.context, command)
        s = self.settings

        async def run_batch(batch: list[dict[str, Any]]) -> list[Any]:
            return await asyncio.get_running_loop().run_in_executor(self.pool, self._in_token_budget, run, batch)

        return serve.batch(max_batch_size=s.max_batch, batch_wait_timeout_s=s.batch_wait_ms / 1000)(run_batch)

    def _in_token_budget(self, run: Any, batch: list[dict[str, Any]]) -> list[Any]:
        """Run `batch` as `MicroBatcher` would: groups of similar length within the padded-token budget."""
        outputs: list[Any] = [None] * len(batch)
        pending = list(range(len(batch)))
        while pending:
            picked = pick_batch([estimate_tokens(batch[i]) for i in pending], self.settings.max_batch,
                                self.settings.max_batch_tokens)
            group = [pending[k] for k in picked]
            for i, output in zip(group, run([batch[i] for i in group]), strict=True):
                outputs[i] = _reply(output)
            pending = [i for i in pending if i not in group]
        return outputs

    async def __call__(self, name: str, args: dict[str, Any]) -> Any:
        command = self.commands.get(name)
        if command is None:
            return Failed(RuntimeError(f"the `{self.model_key}` deployment does not serve /{name}"))
        if name in self._batched:
            return await self._batched[name](args)
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._alone, command, args)

    async def batch(self, name: str, batch: list[dict[str, Any]]) -> list[Any]:
        """A bot's gathered requests in one call: they enter `@serve.batch` together (with other bots'
        requests arriving meanwhile), so the batch closes full instead of after the first few."""
        return list(await asyncio.gather(*(self(name, args) for args in batch)))

    def _alone(self, command: Command, args: dict[str, Any]) -> Any:
        try:
            return command.handler(self.context, args)
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, logged in _reply
            return _reply(exc)

    def describe(self) -> dict[str, Any]:
        """What this replica serves, so a bot can check that it runs the same pack."""
        return {"pack": self.settings.pack, "model": self.model_key, "commands": sorted(self.commands),
                "source": self.context.pack.models[self.model_key].source}


# ----- deploying -----
REPLICA_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}
"""torch's OpenMP threads otherwise spin between the many small steps of decoding and starve the replica's
event loop and Serve's queue-length probes: 32 concurrent /generate on the tiny pack took 7.8-18 s with
spinning threads and 0.57-0.74 s without (2 cores at a load of 10, three runs each, measured by hand)."""


def deployment_options(settings: Settings, replicas: int, cpus: float) -> dict[str, Any]:
    actor = {"num_cpus": cpus, "runtime_env": {"env_vars": dict(REPLICA_ENV)}}
    return {"name": DEPLOYMENT, "num_replicas": replicas, "ray_actor_options": actor,
            # A replica takes a whole batch at once, and a crowd beyond it waits in the callers' routers.
            "max_ongoing_requests": max(settings.max_batch, 8), "health_check_period_s": 5}


def build_app(args: dict[str, Any]) -> Any:
    """The application of one model: the `import_path` of a Serve config (`tutor serve-models --config`)."""
    from ray import serve

    env, model = dict(args["env"]), str(args["model"])
    settings = Settings.from_env(env)
    options = deployment_options(settings, int(args.get("replicas", 1)), float(args.get("cpus", 1)))
    return serve.deployment(ModelServer).options(**options).bind(env, model)


def chosen_models(settings: Settings, only: list[str] | None = None) -> list[str]:
    from core.commands import build_registry
    from core.packs import build_pack

    registry = build_registry()
    served = remote_commands(registry, build_pack(settings, registry).models)
    if not only:
        return sorted(served)
    unknown = sorted(set(only) - set(served))
    if unknown:
        raise ConfigError(f"The {settings.pack} pack has no model for: {', '.join(unknown)}. "
                          f"It serves: {', '.join(sorted(served))}.")
    return sorted(set(only))


def app_args(settings: Settings, model: str, replicas: int, cpus: float) -> dict[str, Any]:
    return {"env": replica_env(settings), "model": model, "replicas": replicas, "cpus": cpus}


def serve_config(settings: Settings, models: list[str], replicas: int = 1, cpus: float = 1) -> dict[str, Any]:
    """A Serve config file (`serve deploy FILE`): one application per model, no HTTP proxy (bots call
    the replicas through handles)."""
    return {"proxy_location": "Disabled",
            "applications": [{"name": app_name(m), "route_prefix": None,
                              "import_path": "core.backends.ray_serve:build_app",
                              "args": app_args(settings, m, replicas, cpus)} for m in models]}


def deploy(settings: Settings, models: list[str], replicas: int = 1, cpus: float = 1) -> list[str]:
    """Deploy `models` to the connected cluster and wait until every replica has loaded its model."""
    from ray import serve

    serve.start(proxy_location="Disabled")
    serve.run_many([serve.RunTarget(build_app(app_args(settings, m, replicas, cpus)), name=app_name(m),
                                    route_prefix=None) for m in models])
    return [app_name(m) for m in models]


def connect(settings: Settings) -> bool:
    """Join the cluster at RAY_ADDRESS (`auto` when empty); True when this call made the connection."""
    import ray

    if ray.is_initialized():
        return False
    address = settings.ray_address or "auto"
    problem = unreachable(address)
    if problem is None:
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
            return True
        except ConnectionError as exc:
            problem = str(exc).splitlines()[0][:200]
    raise ConfigError(f"TUTOR_BACKEND=ray cannot reach a Ray cluster at RAY_ADDRESS={address}: {problem} "
                      "Start one (docs/scale.md) or set RAY_ADDRESS.")


def unreachable(address: str, timeout_s: float = 3.0) -> str | None:
    """Why nothing answers at a `host:port` address, or None. `ray.init` itself waits minutes for a
    cluster that is not there (5 min and counting here), so a bot would hang at start instead of saying so."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return None  # `auto`, or a ray:// client address: ray.init answers those quickly itself
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return None
    except OSError as exc:
        return f"nothing answers there ({exc.strerror or type(exc).__name__})."


def running_apps() -> dict[str, int]:
    """The applications a bot can send requests to now, with how many replicas each has running (at least 1)."""
    from ray import serve

    try:
        status = serve.status()
    except Exception:  # noqa: BLE001 - no Serve on the cluster yet: nothing is deployed
        return {}
    return reachable_apps(status)


def reachable_apps(status: Any) -> dict[str, int]:
    """From a `serve.status()`: each application that is RUNNING, or that still has a running replica while
    Serve replaces another (its status says DEPLOYING or UNHEALTHY until the new one is up: a bot started in that
    window ran the model in its own process until it was restarted), but not one being deleted."""
    served = {}
    for name, app in status.applications.items():
        state = str(app.status).rsplit(".", 1)[-1]
        replicas = sum(n for d in app.deployments.values() for s, n in d.replica_states.items()
                       if str(s).endswith("RUNNING"))
        if state == "RUNNING" or (replicas > 0 and state != "DELETING"):
            served[name] = max(1, replicas)
    return served


# ----- the bot side -----
def _retryable() -> tuple[type[BaseException], ...]:
    """Failures of the transport or of a replica, not of the command: worth asking another replica."""
    from ray import exceptions as rex
    from ray.serve import exceptions as sex

    return (rex.RayActorError, rex.WorkerCrashedError, rex.NodeDiedError, rex.ObjectLostError,
            sex.ReplicaUnavailableError, sex.DeploymentUnavailableError, sex.BackPressureError)


class RayBackend:
    def __init__(self, context: TaskContext, local: LocalBackend) -> None:
        self.local = local
        settings = context.settings
        self._owns_connection = connect(settings)
        wanted = remote_commands(context.registry, context.pack.models)
        running = running_apps()
        missing = sorted(m for m in wanted if app_name(m) not in running)
        if missing:
            log.warning("Ray serves no deployment for %s; those run in this process (tutor serve-models deploys "
                        "them)", ", ".join(missing))
        from ray import serve

        self.handles = {m: serve.get_app_handle(app_name(m)) for m in wanted if m not in missing}
        self._check_pack(settings.pack)
        self.remote = {c.name: c.model_key for m in self.handles for c in wanted[m]}
        self._retry_on = _retryable()
        self.retries = 0
        self.give_up_s = settings.request_timeout_s
        """How long a call keeps asking again: no caller waits longer than the engine's time-out, and a
        gathered batch's call is not cancelled with its callers."""
        remote_batchers = {c.name: RemoteBatcher(self, c.name, settings, running[app_name(m)])
                           for m in self.handles for c in wanted[m] if c.batch_handler and settings.max_batch > 1}
        self.batchers = {n: b for n, b in local.batchers.items() if n not in self.remote} | remote_batchers

    def _check_pack(self, pack: str) -> None:
        def describe() -> dict[str, dict[str, Any]]:
            return {m: h.describe.remote().result(timeout_s=60) for m, h in self.handles.items()}

        with ThreadPoolExecutor(max_workers=1) as pool:  # Serve refuses a blocking call on an event loop's thread
            described = pool.submit(describe).result()
        for model, served in described.items():
            if served["pack"] != pack:
                raise ConfigError(f"The Ray deployment {app_name(model)} serves the {served['pack']} pack, but "
                                  f"this bot uses the {pack} pack. Run `tutor serve-models` with TUTOR_PACK={pack}.")

    async def submit(self, command: Command, args: dict[str, Any]) -> Result:
        model = self.remote.get(command.name)
        if model is None:
            return await self.local.submit(command, args)
        if command.name in self.batchers:
            return await self.batchers[command.name].submit(args)
        reply = await self.call(command.name, "__call__", args)
        if isinstance(reply, Failed):
            raise reply.error
        return reply

    async def call(self, name: str, method: str, payload: Any) -> Any:
        """`method` of the replica serving /name, asked again while the replica or the transport fails."""
        model = self.remote[name]
        handle, delay = self.handles[model].options(method_name=method), 0.05
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.give_up_s
        while True:
            try:
                return await handle.remote(name, payload)
            except self._retry_on as exc:
                if loop.time() + delay > give_up:
                    raise
                self.retries += 1
                log.warning("a replica of %s failed (%s); asking again", app_name(model), type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    def warm(self, model_key: str) -> bool:
        if model_key in self.handles:
            return False  # a replica loads its model before it is ready
        return self.local.warm(model_key)

    def close(self) -> None:
        self.local.close()
        if self._owns_connection:
            import ray

            ray.shutdown()


class RemoteBatcher(MicroBatcher):
    """The bot side of a batched command on Ray: the bot's concurrent requests go to a replica as one
    call, split as the local backend splits them (batch size, padded-token budget), one batch in flight
    per replica the application had running when the bot started."""

    def __init__(self, backend: RayBackend, name: str, settings: Settings, replicas: int) -> None:
        super().__init__(None, None, max_batch=settings.max_batch, max_tokens=settings.max_batch_tokens,
                         wait_s=settings.batch_wait_ms / 1000, in_flight=replicas)
        self.backend, self.name = backend, name

    async def execute(self, batch: list[dict[str, Any]]) -> list[Any]:
        replies = await self.backend.call(self.name, "batch", batch)
        return [reply.error if isinstance(reply, Failed) else reply for reply in replies]

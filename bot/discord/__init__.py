"""The Discord adapter: discord.py's client, slash commands, components and deliveries."""

"""Self-service administration: accounts, API keys, numbers and pools, settings,
tracking and geo rules, and the account's configuration sections."""

"""`navagent bench ...`: figures measured side by side in one run, each printed with its ratio to a baseline."""

"""AWS access: the gateway (the only module that talks to AWS), inventory, the background loop."""

"""AWS access: the gateway (the only module that talks to AWS), inventory, demo seeding, embedded moto."""

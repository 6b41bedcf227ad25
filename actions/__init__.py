"""zhiyin custom actions: thin Rasa SDK actions over the services in `zhiyin.services`."""

from django.apps import AppConfig


class ContractConfig(AppConfig):
    name = "contract"

    def ready(self):
        # Before any request is served, so every clock read can be virtual.
        from . import clock

        clock.install()

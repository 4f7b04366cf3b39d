from django.apps import AppConfig


class SyntheticConfig(AppConfig):
    name = "bench.synthetic"
    label = "synthetic"
    verbose_name = "Synthetic network (development)"

    def ready(self) -> None:
        from bench.synthetic import checks  # noqa: F401 (registers the check)

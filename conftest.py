def pytest_configure(config) -> None:
    if not config.pluginmanager.hasplugin("django"):
        return  # pure-module tests run without Django (-p no:django)
    from django.conf import settings

    # Argon2 is deliberately slow; the suite hashes with MD5 (settings.py keeps Argon2, and a
    # test checks it does).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

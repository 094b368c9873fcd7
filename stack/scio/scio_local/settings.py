"""ScanCode.io settings for the local stack: stock settings + the loopback-URL app."""

from scancodeio.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "scio_local.apps.LoopbackInputsConfig"]  # noqa: F405

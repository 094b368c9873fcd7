# Run through `scanpipe shell -c` by stack/up.sh: installs the stack's known API token
# (SCA_SCIO_TOKEN) for the user "airflow", and its web UI password (SCA_SCIO_UI_PASSWORD, for the
# browser test). The key is stored hashed like ScanCode.io's own, but with few PBKDF2 iterations,
# so that an authenticated request costs ~0.05 s rather than ~0.5 s on this machine. Local stack
# only.
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.utils.crypto import get_random_string
from scanpipe.models import APIToken

key = os.environ["SCA_SCIO_TOKEN"]
user, _ = get_user_model().objects.get_or_create(username="airflow")
user.set_password(os.environ["SCA_SCIO_UI_PASSWORD"])
user.save()
APIToken.objects.filter(user=user).delete()
APIToken.objects.filter(prefix=key[: APIToken.PREFIX_LENGTH]).delete()
key_hash = PBKDF2PasswordHasher().encode(key, get_random_string(16), iterations=1000)
APIToken.objects.create(user=user, prefix=key[: APIToken.PREFIX_LENGTH], key_hash=key_hash)
print("API token and web UI password installed for user 'airflow'")

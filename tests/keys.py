"""Fixed test secrets (never used outside tests)."""
import base64

QUO_CLASSIC = base64.b64encode(b"quo-classic-test-signing-key-0001").decode()
QUO_CLASSIC_ROTATED = base64.b64encode(b"quo-classic-test-signing-key-0002").decode()
QUO_STANDARD = "whsec_" + base64.b64encode(b"quo-standard-webhooks-test-key-01").decode()

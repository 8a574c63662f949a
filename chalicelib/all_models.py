"""Import every module that declares tables, so `db.MODELS` is complete."""
from chalicelib.dni import models as _dni  # noqa: F401

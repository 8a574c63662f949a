"""Import every module that declares tables, so `db.MODELS` is complete."""
from chalicelib.dni import models as _dni  # noqa: F401
from chalicelib.calls import models as _calls  # noqa: F401
from chalicelib.integrations import models as _integrations  # noqa: F401
from chalicelib.integrations import conversions as _conversions  # noqa: F401
from chalicelib.reports import models as _reports  # noqa: F401
from chalicelib.intelligence import models as _intelligence  # noqa: F401
from chalicelib.people import models as _people  # noqa: F401

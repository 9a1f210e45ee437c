"""Every page tells a sysadmin when the notifier has quietly stopped, checklist runs crashed, or
mail to someone bounces."""

from connections import faults
from connections.access import is_sysadmin
from connections.notices import bouncing_addresses
from connections.notifier_watch import notifier_status_for


def notifier_banner(request):
    user = getattr(request, "user", None)
    if user is None or not is_sysadmin(user):
        return {"is_sysadmin": False}
    late = [status for status in notifier_status_for(request) if status.overdue]
    return {"late_notifier_jobs": late, "is_sysadmin": True, "fault": faults.banner(),
            "bouncing_addresses": bouncing_addresses()}

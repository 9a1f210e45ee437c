"""`{% step_message result %}`: a checklist step's message as the viewer's role may read it."""

from django import template

from connections.access import is_sysadmin

register = template.Library()


@register.simple_tag(takes_context=True)
def step_message(context, result):
    """Sysadmins read what a site wrote (page titles, error details); other roles see the result
    without it, so pointing a connection at an internal host does not reveal what answers there."""
    request = context.get("request")
    return result.message if request is not None and is_sysadmin(request.user) else result.unquoted_message

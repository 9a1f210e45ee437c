"""`{% procedure "TOKENS_MENU" %}`: Issuetrak's menu paths in templates, spelled as in procedure.py."""

from django import template

from connections import procedure as steps

register = template.Library()


@register.simple_tag(name="procedure")
def procedure_text(name: str) -> str:
    """The named constant from connections.procedure (an unknown name is a template error)."""
    if not name.isupper() or not hasattr(steps, name):
        raise template.TemplateSyntaxError(f"connections.procedure has no {name}")
    return getattr(steps, name)

from django import template

from engagex.billing.services.plans import plan_text

register = template.Library()

register.filter("plan_text", plan_text)

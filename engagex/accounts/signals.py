"""Events of the team that apps above accounts act on (they connect from AppConfig.ready())."""

from django.dispatch import Signal

# Sent after an invitee joined, inside the transaction: `invitation`, `user`.
invitation_accepted = Signal()

"""Who may log in, and how: Portal's side of django-allauth.

allauth does sign-up, login, email verification, password reset, rate limits, two-factor
authentication and social login. This package holds what Portal adds: the adapter (a 429 for
too many failed logins, invitations that count as verifying, where a verification link leads),
the sign-up form and page (the plan chosen, the invited address), the email gate before billing,
and the recent-login check before sensitive changes.
"""

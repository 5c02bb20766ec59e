"""Signing in, for both faces: the web pages and the REST API read who is signed in, and check a
change's CSRF token, here.

- :mod:`patronage.signin.sessions`: sessions kept on the server (started at sign-in, ended at
  sign-out, at a password change or by staff);
- :mod:`patronage.signin.cookie`: the signed session cookie that names one, its CSRF token, and
  who a request is from.
"""

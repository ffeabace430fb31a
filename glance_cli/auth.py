"""Who the command is and where the image service is: a token and an endpoint.

Either both are given (``--os-auth-token`` and ``--os-image-url``) or
Keystone supplies them through keystoneauth1, the endpoint coming from the
service catalog (service type ``image``).
"""

from __future__ import annotations

import argparse

from glance_cli.errors import CommandError
from glance_cli.transport import Transport

NO_CREDENTIALS = ("You must provide either --os-auth-token and --os-image-url, or "
                  "--os-auth-url, --os-username and --os-password (or the matching "
                  "OS_* environment variables).")


def connect(args: argparse.Namespace) -> Transport:
    """A ``Transport`` to the image service for the command line's credentials."""
    verify = _verify(args)
    cert = client_cert(args)
    if args.os_auth_token and args.os_image_url:
        return Transport(args.os_image_url, args.os_auth_token, args.timeout, verify, cert)
    if not args.os_auth_url:
        raise CommandError(NO_CREDENTIALS)
    endpoint, token = keystone_login(args, verify, cert)
    return Transport(endpoint, token, args.timeout, verify, cert)


def client_cert(args: argparse.Namespace) -> str | tuple[str, str] | None:
    """The TLS client certificate (and key) as requests takes it, or None."""
    if args.os_key and not args.os_cert:
        raise CommandError("--os-key needs --os-cert (the certificate it belongs to).")
    if args.os_cert and args.os_key:
        return (args.os_cert, args.os_key)
    return args.os_cert or None


def keystone_login(args: argparse.Namespace, verify: bool | str,
                   cert: str | tuple[str, str] | None = None) -> tuple[str, str]:
    """The image endpoint and a token, from Keystone."""
    # keystoneauth1 is slow to import; token-only use never needs it.
    from keystoneauth1 import exceptions as ks_exc
    from keystoneauth1 import session as ks_session

    plugin = _plugin(args)
    session = ks_session.Session(auth=plugin, verify=verify, cert=cert,
                                 timeout=args.timeout)
    try:
        token = session.get_token()
        endpoint = args.os_image_url or session.get_endpoint(
            service_type="image", interface=args.os_interface,
            region_name=args.os_region_name)
    except ks_exc.Unauthorized as exc:
        raise CommandError("Keystone at %s refused the credentials: %s"
                           % (args.os_auth_url, _first_line(exc))) from exc
    except ks_exc.ConnectionError as exc:
        raise CommandError("Unable to reach Keystone at %s: %s"
                           % (args.os_auth_url, _first_line(exc))) from exc
    except ks_exc.EndpointNotFound:
        endpoint = None
    except ks_exc.ClientException as exc:
        raise CommandError("Keystone authentication failed: %s" % _first_line(exc)) from exc
    if not endpoint:
        where = " in region %s" % args.os_region_name if args.os_region_name else ""
        raise CommandError("The service catalog has no %s endpoint of type 'image'%s."
                           % (args.os_interface, where))
    return endpoint, token


def _plugin(args: argparse.Namespace):
    from keystoneauth1.identity import generic

    scope = dict(project_name=args.os_project_name, project_id=args.os_project_id,
                 project_domain_name=args.os_project_domain_name,
                 project_domain_id=args.os_project_domain_id)
    if args.os_auth_token:
        return generic.Token(args.os_auth_url, token=args.os_auth_token, **scope)
    if not args.os_username and not args.os_user_id:
        raise CommandError("You must provide a username via --os-username or "
                           "OS_USERNAME.")
    if not args.os_password:
        raise CommandError("You must provide a password via --os-password or "
                           "OS_PASSWORD.")
    return generic.Password(args.os_auth_url, username=args.os_username,
                            user_id=args.os_user_id, password=args.os_password,
                            user_domain_name=args.os_user_domain_name,
                            user_domain_id=args.os_user_domain_id, **scope)


def _verify(args: argparse.Namespace) -> bool | str:
    if args.insecure:
        return False
    return args.os_cacert or True


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

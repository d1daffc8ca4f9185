"""The `flask crm ...` commands operators and cron jobs use."""

import click
from flask.cli import AppGroup
from flask_babel import force_locale

from crm.auth import services as user_services
from crm.auth.models import Role
from crm.extensions import db

crm_cli = AppGroup("crm", help="CRM administration commands.")


@crm_cli.command("create-user")
@click.argument("email")
@click.option(
    "--role",
    required=True,
    type=click.Choice([role.value for role in Role]),
    help="What the user may do.",
)
@click.option(
    "--name", default=None, help="Full name (defaults to the part of the e-mail before @)."
)
@click.option("--password", default=None, help="Prompted for (hidden, twice) when not given.")
@click.option("--language", type=click.Choice(["sv", "en"]), default="sv", show_default=True)
def create_user(email, role, name, password, language):
    """Create a staff user who signs in with EMAIL."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        # The command line speaks English, like the rest of its output.
        with force_locale("en"):
            user = user_services.create_user(
                email=email, name=name, role=role, password=password, language=language
            )
    except user_services.UserError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.role.value} {user.email}.")


@crm_cli.command("demo-data")
def demo_data():
    """Load the demo data set (idempotent: running it again changes nothing)."""
    from crm import demo_data as demo

    created = demo.load()
    db.session.commit()
    if created:
        click.echo(f"Demo data loaded: {created} records created.")
    else:
        click.echo("Demo data already present; nothing changed.")
    click.echo(f"Demo logins (password for all: {demo.DEMO_PASSWORD}):")
    for email, _name, role in demo.DEMO_USERS:
        click.echo(f"  {role:<12} {email}")

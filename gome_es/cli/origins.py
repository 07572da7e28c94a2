"""Where a run's settings came from, said before it starts; a config file may not redirect the LLM silently.

A `gome.toml` beside a database can come with a cloned project, and an environment variable can be
left over from another job, so the start of every run (`gome run`, `gome resume`, `gome sweep`)
names the endpoint, the model and the workspace, and every option that came from a config file (with
the file's path) or from the environment (with the variable). Where a config file sets ``base-url``
to a host other than OpenAI's while an API key would be sent with the requests, the run is refused
(:class:`ConfigRedirect`, exit 2) unless the same endpoint is given on the command line or
``--trust-config`` is: the key and the code the endpoint answers with would go wherever the file says.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

import click
from click.core import ParameterSource

from ..core.vocabulary import ReasonerKind
from ..errors import GomeError
from ..trust.text import clean

DEFAULT_ENDPOINT = "https://api.openai.com/v1"
DEFAULT_HOST = "api.openai.com"
API_KEY_ENV = "OPENAI_API_KEY"
# variables gome reads outside click's options, named where they change a run
ENV_READ = {"GOME_WORKSPACE": "workspace root", "OPENAI_BASE_URL": "endpoint", "GOME_HOME": "gome's home"}

TRUST_CONFIG_HELP = ("Accept an LLM endpoint (base-url) from the config file although an API key would be sent "
                     "to it; without this, such a run is refused unless --base-url gives the same value.")


class ConfigRedirect(GomeError):
    """A config file points the LLM (and the API key) at another host, and nobody confirmed it."""


def config_path(ctx: click.Context) -> str | None:
    """The config file whose values are this command's defaults (set by :mod:`.config`), if any."""
    return ctx.meta.get("gome.config")


def _option(ctx: click.Context, name: str) -> click.Option | None:
    return next((p for p in ctx.command.params if isinstance(p, click.Option) and p.name == name), None)


def _shown(value: Any) -> str:
    return clean(value if not isinstance(value, (list, tuple)) else ",".join(map(str, value)), "line", 200)


def option_origins(ctx: click.Context) -> list[str]:
    """One line per source: the options a config file set (with its path), those the environment set."""
    from_file, from_env = [], []
    for name, value in ctx.params.items():
        source = ctx.get_parameter_source(name)
        opt = _option(ctx, name)
        flag = (opt.opts[-1] if opt is not None and opt.opts else f"--{name}").lstrip("-")
        if source == ParameterSource.DEFAULT_MAP:
            from_file.append(f"{flag} = {_shown(value)}")
        elif source == ParameterSource.ENVIRONMENT:
            env = opt.envvar if opt is not None and isinstance(opt.envvar, str) else "?"
            from_env.append(f"{flag} = {_shown(value)} (${env})")
    for var, what in ENV_READ.items():
        if os.environ.get(var):
            from_env.append(f"{what} = {_shown(os.environ[var])} (${var})")
    lines = []
    if from_file:
        lines.append(f"from config file {clean(config_path(ctx) or '?', 'line')}: " + "; ".join(from_file))
    if from_env:
        lines.append("from the environment: " + "; ".join(from_env))
    return lines


def endpoint_of(kind: str | None, base_url: str | None) -> str | None:
    """Where an `openai` reasoner's requests go (its --base-url, else $OPENAI_BASE_URL, else OpenAI's)."""
    if kind != ReasonerKind.openai:
        return None
    return base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_ENDPOINT


def check_endpoint(ctx: click.Context, kind: str | None, base_url: str | None, trust_config: bool,
                   param: str = "base_url") -> None:
    """Refuse an endpoint a config file chose for a remote host while an API key would be sent to it."""
    if kind != ReasonerKind.openai or not base_url or trust_config:
        return
    if ctx.get_parameter_source(param) != ParameterSource.DEFAULT_MAP:
        return  # typed on the command line (or left to the environment): the user's own choice
    host = (urlsplit(base_url).hostname or "").lower()
    if host == DEFAULT_HOST or not os.environ.get(API_KEY_ENV, "").strip():
        return
    where = config_path(ctx) or "the config file"
    raise ConfigRedirect(
        f"{clean(where, 'line')} sets [{ctx.info_name}] base-url = {clean(base_url, 'line', 200)}, a host "
        f"other than OpenAI's ({DEFAULT_HOST}): the run would send ${API_KEY_ENV} to it and execute the code it "
        f"answers with, so it is not started. If you trust that file, give the same endpoint on the command line "
        f"(--base-url {clean(base_url, 'line', 200)}) or pass --trust-config; otherwise remove base-url from the "
        "file or use --config with another one.")


def start_lines(ctx: click.Context, *, endpoint: str | None, model: str | None, workspace: Any) -> list[str]:
    """What the start of a run says about where it goes and what set it up (printed on stderr)."""
    key = f" (sends ${API_KEY_ENV})" if endpoint and os.environ.get(API_KEY_ENV, "").strip() else ""
    lines = [f"endpoint {clean(endpoint, 'line') + key if endpoint else 'none (no remote LLM)'} · model "
             f"{clean(model or '—', 'line')} · workspace {clean(workspace, 'line') if workspace else '—'}"]
    return lines + option_origins(ctx)

"""`unseen review FOLDER [-o OUT]`: check and correct the masks in a browser, on this machine only."""

from __future__ import annotations

import argparse
import contextlib
import sys
import webbrowser
from collections.abc import Sequence
from pathlib import Path

from unseen.cli_options import add_settings_arguments, settings_from

EXIT_OK, EXIT_USAGE = 0, 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="unseen review",
        description="Review the masks of a folder of photos and videos in your browser: add missed "
        "faces, remove false masks, switch a video's face tracks off or on, mask a face over a range of "
        "frames, change the mask style, then export through the same verified pipeline. The "
        "server listens on 127.0.0.1 only and needs the one-time link it prints. Reviewing a batch's "
        "output folder: give the mask options the batch was run with.",
    )
    p.add_argument("folder", type=Path, metavar="FOLDER", help="the photos and videos (never written to)")
    p.add_argument(
        "-o",
        "--output",
        type=Path,
        help="output folder: a batch's, or where to write (default: FOLDER-unseen)",
    )
    add_settings_arguments(p, force=False)
    p.add_argument("--no-browser", action="store_true", help="print the link only; open it yourself")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the review until Ctrl-C; returns an exit code."""
    try:
        args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK
    if not args.folder.is_dir():
        print(f"unseen review: {args.folder}: not a folder", file=sys.stderr)
        return EXIT_USAGE
    from unseen.web.server import serve

    settings = settings_from(args)
    try:
        server = serve(args.folder, args.output, settings, port=args.port)
    except (ValueError, OSError) as error:
        print(f"unseen review: {error}", file=sys.stderr)
        return EXIT_USAGE
    if args.no_verify:
        print(
            "unseen review: warning: --no-verify: exports are NOT checked for faces a detector or "
            "recognizer can still find",
            file=sys.stderr,
        )
    catalog = server.catalog
    videos = sum(item.kind == "video" for item in catalog.items)
    print(
        f"reviewing {len(catalog) - videos} photo(s) and {videos} video(s) in {catalog.folder}; "
        f"outputs and edits go to {catalog.out}",
        flush=True,
    )
    print(
        f"open this link (it works on this computer only, until you stop with Ctrl-C):\n  {server.url}",
        flush=True,
    )
    if not args.no_browser:
        with contextlib.suppress(webbrowser.Error):  # no browser here: the printed link is enough
            webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped; your edits are saved beside the outputs", flush=True)
    finally:
        server.server_close()
    return EXIT_OK

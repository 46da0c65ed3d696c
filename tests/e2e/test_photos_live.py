"""Photos with real processes: a gevent server decodes uploads off its event loop, and the
`storekeeper worker` makes the variants the upload queued."""

from __future__ import annotations

import io
import itertools
import threading
import time
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.e2e.background import DELIVERY_S, deployment, poll_until, register, sign_in
from tests.helpers import PASSWORD
from tests.images import opened, picture
from tests.mailserver import MailServer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("background")]


def _large_png() -> bytes:
    """A 36-megapixel PNG that compresses well: a few hundred ms of decoding and encoding."""
    image = Image.linear_gradient("L").resize((6000, 6000)).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


def test_the_worker_makes_the_variants_and_the_server_keeps_serving_while_decoding(
    tmp_path: Path,
) -> None:
    with (
        MailServer() as mail,
        deployment(tmp_path, None, mail.url, server_workers=1) as site,
        requests.Session() as http,
    ):
        base = site.base
        assert register(http, base, "photographer", "p@example.test", PASSWORD).status_code == 201
        token = sign_in(http, base, "photographer", PASSWORD).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        shop = http.post(f"{base}/store", json={"name": "Live"}, headers=auth, timeout=10).json()
        made = http.post(
            f"{base}/store/{shop['id']}/item",
            json={"name": "Lamp", "price": 1},
            headers=auth,
            timeout=10,
        ).json()

        # One server worker: while it decodes a large upload in its CPU pool, its event loop
        # still answers another connection (the request is not served after the upload).
        large = _large_png()
        answers: dict[str, int] = {}

        def upload() -> None:
            with requests.Session() as own:
                answers["upload"] = own.put(
                    f"{base}/item/{made['id']}/image",
                    data=large,
                    headers={**auth, "Content-Type": "image/png"},
                    timeout=60,
                ).status_code

        sending = threading.Thread(target=upload)
        sending.start()
        started = time.monotonic()
        answered = [started]
        with requests.Session() as probe:
            while sending.is_alive():
                probe.get(f"{base}/health", timeout=10)
                answered.append(time.monotonic())
        sending.join()
        took = time.monotonic() - started
        assert answers["upload"] == 201
        gaps = [b - a for a, b in itertools.pairwise(answered)]
        print(f"upload {took:.2f} s, {len(gaps)} probes, longest gap {max(gaps):.2f} s")
        # Decoding and re-encoding are most of the upload's time: had they run on the event
        # loop, no probe would have been answered meanwhile.
        assert max(gaps) < took / 2, (took, max(gaps))

        photo = http.put(
            f"{base}/item/{made['id']}/image",
            data=picture(2000, 1000),
            headers={**auth, "Content-Type": "image/jpeg"},
            timeout=30,
        ).json()["image"]
        site.start_worker()
        thumb_url = f"{base}{photo['thumbnail_url']}"
        medium_url = f"{base}/item/{made['id']}/image?size=medium"

        def variants_made() -> bool:
            sizes = (http.get(url, timeout=10).headers["ETag"] for url in (thumb_url, medium_url))
            return all(etag != photo["etag"] for etag in sizes)

        poll_until(variants_made, DELIVERY_S, lambda: site.logs()[-3000:])
        thumb = http.get(thumb_url, timeout=10)
        assert opened(thumb.content).size == (256, 128)
        assert thumb.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert opened(http.get(medium_url, timeout=10).content).size == (1024, 512)

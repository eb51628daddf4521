"""Drives a server with python3's etcd3 client (Debian python3-etcd3) and prints what it saw as
one JSON object; pythonEtcd3Client.test.ts runs it against verikv and checks the observations.

Usage: python3 python_etcd3_client.py HOST PORT
"""
import json
import sys

import etcd3


def text(value):
    return None if value is None else value.decode()


def main(host, port):
    client = etcd3.client(host=host, port=port, timeout=10)
    seen = {}

    client.put("py/a", "1")
    client.put("py/b", "2")
    client.put("other", "3")
    value, meta = client.get("py/a")
    seen["get"] = {"value": text(value), "key": text(meta.key), "version": meta.version}
    seen["get_missing"] = text(client.get("py/none")[0])
    seen["prefix"] = sorted([text(m.key), text(v)] for v, m in client.get_prefix("py/"))
    seen["delete"] = client.delete("py/a")
    seen["delete_missing"] = client.delete("py/a")
    seen["after_delete"] = sorted(text(m.key) for _, m in client.get_prefix("py/"))

    swapped, _ = client.transaction(
        compare=[client.transactions.value("py/b") == "2"],
        success=[client.transactions.put("py/b", "swapped")],
        failure=[],
    )
    refused, _ = client.transaction(
        compare=[client.transactions.value("py/b") == "2"],
        success=[client.transactions.put("py/b", "again")],
        failure=[],
    )
    seen["txn"] = {"swapped": swapped, "refused": refused, "value": text(client.get("py/b")[0])}
    seen["replace"] = [client.replace("py/b", "swapped", "replaced"), client.replace("py/b", "swapped", "no")]
    seen["put_if_not_exists"] = [client.put_if_not_exists("py/new", "1"), client.put_if_not_exists("py/new", "2")]

    # From the next revision on, so the events do not depend on when the watch was set up.
    start = client.get("py/b")[1].mod_revision + 1
    events, cancel = client.watch_prefix("w/", start_revision=start)
    client.put("w/x", "1")
    client.put("w/x", "2")
    client.delete("w/x")
    observed = []
    for event in events:
        observed.append([type(event).__name__, text(event.key), text(event.value)])
        if len(observed) == 3:
            break
    cancel()
    seen["watch"] = observed

    lease = client.lease(30)
    client.put("py/leased", "v", lease=lease)
    refreshed = lease.refresh()
    seen["lease"] = {
        "granted_ttl": lease.granted_ttl,
        "remaining_positive": lease.remaining_ttl > 0,
        "keys": [k.decode() for k in lease.keys],
        "refresh_ttl": refreshed[0].TTL,
        "key_lease_matches": client.get("py/leased")[1].lease_id == lease.id,
    }
    lease.revoke()
    seen["after_revoke"] = {"value": text(client.get("py/leased")[0]), "remaining": lease.remaining_ttl}

    lock = client.lock("py-lock", ttl=30)
    seen["lock"] = {"acquired": lock.acquire(timeout=10), "held": lock.is_acquired(), "released": lock.release()}

    status = client.status()
    seen["status"] = {"leader": status.leader.name, "db_size_positive": status.db_size > 0}
    seen["members"] = [m.name for m in client.members]
    # No client.close(): python-etcd3 0.12's watch thread then tries to reopen its stream on the
    # closed channel and prints a traceback (against etcd as well); exiting ends the thread.
    print(json.dumps(seen))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))

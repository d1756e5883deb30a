"""Writes points to Herodotus with the InfluxDB Python clients, as an agent would.

usage: influx-clients.py v2|v1 URL COUNT T0_MS
Prints one JSON line: every point sent, as [series name, epoch ms, value].
v2: influxdb-client's batching write API (gzip on) to /api/v2/write.
v1: influxdb's write_points to /write?db=plant.
Values are exact in float32 (multiples of 1/8) so that they read back unchanged.
"""
import json
import sys

mode, url, count, t0 = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
sent = []


def v2():
    from influxdb_client import InfluxDBClient, Point, WritePrecision
    from influxdb_client.client.write_api import WriteOptions

    errors = []
    client = InfluxDBClient(url=url, token="any-token", org="plant", enable_gzip=True)
    options = WriteOptions(batch_size=700, flush_interval=200, max_retries=0)
    with client.write_api(write_options=options, error_callback=lambda conf, data, err: errors.append(str(err))) as w:
        for i in range(count):
            ts = t0 + i * 10
            p = (
                Point("plant1/line2/pump3")
                .tag("site", "plant 1")
                .field("discharge_pressure", (i % 800) / 8 - 50)
                .field("starts", i)
                .field("running", i % 3 == 0)
                .time(ts, WritePrecision.MS)
            )
            w.write(bucket="historian", record=p)
            sent.append(["plant1/line2/pump3/site=plant 1/discharge_pressure", ts, (i % 800) / 8 - 50])
            sent.append(["plant1/line2/pump3/site=plant 1/starts", ts, i])
            sent.append(["plant1/line2/pump3/site=plant 1/running", ts, 1 if i % 3 == 0 else 0])
    client.close()
    if errors:
        raise SystemExit("write errors: " + "; ".join(errors[:3]))


def v1():
    from urllib.parse import urlparse
    from influxdb import InfluxDBClient

    u = urlparse(url)
    client = InfluxDBClient(host=u.hostname, port=u.port, database="plant")
    points = []
    for i in range(count):
        ts = t0 + i * 10
        points.append({"measurement": "line1/mixer", "tags": {"unit": "rpm"}, "time": ts, "fields": {"speed": (i % 400) / 4}})
        sent.append(["line1/mixer/unit=rpm/speed", ts, (i % 400) / 4])
    client.write_points(points, time_precision="ms", batch_size=1000)


{"v2": v2, "v1": v1}[mode]()
print(json.dumps(sent))

"""Writes a CloudTrail log tree (gzipped JSON files, as AWS delivers them) for scripts/bench.sh."""
import gzip, json, os, random, sys

out, files, per_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(7)
names = ["GetObject", "PutObject", "AssumeRole", "DescribeInstances", "ListBuckets", "ConsoleLogin", "CreateAccessKey"]
n = 0
for f in range(files):
    day = 1 + f % 28
    d = os.path.join(out, "AWSLogs", "123456789012", "CloudTrail", "us-east-1", "2026", "03", f"{day:02d}")
    os.makedirs(d, exist_ok=True)
    records = []
    for _ in range(per_file):
        n += 1
        name = rng.choice(names)
        rec = {
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": f"AIDA{n:08d}", "arn": f"arn:aws:iam::123456789012:user/user{n % 500}", "accountId": "123456789012", "userName": f"user{n % 500}"},
            "eventTime": f"2026-03-{day:02d}T{n % 24:02d}:{n % 60:02d}:{n % 60:02d}Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": f"10.{n % 250}.{n % 200}.{n % 240}",
            "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"bucketName": f"bucket-{n % 40}", "key": f"reports/{n}.csv"},
            "responseElements": None,
            "requestID": f"{n:016X}",
            "eventID": f"e{n:012d}-0000-4000-8000-000000000000",
            "readOnly": name.startswith(("Get", "List", "Describe")),
            "eventType": "AwsApiCall",
            "managementEvent": name not in ("GetObject", "PutObject"),
            "recipientAccountId": "123456789012",
        }
        if name == "ConsoleLogin":
            rec["additionalEventData"] = {"MFAUsed": "Yes"}
            rec["responseElements"] = {"ConsoleLogin": "Success"}
        records.append(rec)
    with gzip.open(os.path.join(d, f"123456789012_CloudTrail_us-east-1_2026030{day % 10}T0000Z_{f:05d}.json.gz"), "wt") as fh:
        json.dump({"Records": records}, fh)
print(n)

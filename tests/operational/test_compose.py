"""deploy/compose.yaml and deploy/nginx.conf describe one deployment: the proxy runs the
repository's nginx.conf, and its upstream lists exactly the ports the app replicas serve."""

import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_the_proxy_runs_nginx_conf_in_front_of_every_replica():
    services = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    proxy = services.pop("proxy")
    mounted = {volume.split(":")[0]: volume.split(":")[1] for volume in proxy["volumes"]}
    assert mounted["./nginx.conf"] == proxy["command"][proxy["command"].index("-c") + 1]
    replica_ports = set()
    for service in services.values():
        (port,) = [arg.split("=")[1] for arg in service["command"] if "--server.port=" in arg]
        replica_ports.add(int(port))
    assert len(replica_ports) == len(services)
    conf = (DEPLOY / "nginx.conf").read_text()
    upstream = re.search(r"upstream resnet_viz \{(.*?)\}", conf, re.DOTALL).group(1)
    assert "hash $affinity consistent;" in upstream  # cookie affinity, not ip_hash
    assert {int(p) for p in re.findall(r"server 127\.0\.0\.1:(\d+)", upstream)} == replica_ports
    assert set(proxy["depends_on"]) == set(services)

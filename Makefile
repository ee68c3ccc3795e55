# Thin wrappers: the scripts are the real commands (see scripts/*.sh).
.PHONY: test demo ci peer-start peer-stop peer-status

test:
	scripts/test.sh
demo:
	scripts/demo.sh
ci:
	.ci/run
peer-start:
	scripts/nfs-peer.sh start
peer-stop:
	scripts/nfs-peer.sh stop
peer-status:
	scripts/nfs-peer.sh status

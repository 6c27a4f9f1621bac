# permgraph: see README.md. Every target works on a fresh machine with Go.
GO      ?= go
PKGS    ?= ./...
FUZZTIME ?= 20s

.PHONY: build test demo bench fuzz lint clean

build:
	$(GO) build -o bin/permgraph ./cmd/permgraph

# The README's test command; CI (.ci/run) calls exactly this.
test:
	$(GO) vet $(PKGS)
	$(GO) test -count=1 $(PKGS)
	# Every benchmark once (issue 10: they must keep compiling and running;
	# timings are not asserted).
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x $(PKGS)

demo:
	$(GO) run ./cmd/permgraph demo

bench:
	bash bench/run.sh

# Each fuzz target runs for FUZZTIME (go test allows one -fuzz target per run).
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./policy/aws/
	$(GO) test -run '^$$' -fuzz '^FuzzMatchWildcard$$' -fuzztime $(FUZZTIME) ./policy/aws/
	$(GO) test -run '^$$' -fuzz '^FuzzCondition$$' -fuzztime $(FUZZTIME) ./policy/aws/
	$(GO) test -run '^$$' -fuzz '^FuzzImportGAAD$$' -fuzztime $(FUZZTIME) ./collectors/awsiam/
	$(GO) test -run '^$$' -fuzz '^FuzzImportOrg$$' -fuzztime $(FUZZTIME) ./collectors/awsorg/
	$(GO) test -run '^$$' -fuzz '^FuzzEntraPage$$' -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./collectors/entra/
	$(GO) test -run '^$$' -fuzz '^FuzzFastDecoder$$' -fuzztime $(FUZZTIME) ./collectors/entra/
	$(GO) test -run '^$$' -fuzz '^FuzzAzureRBACFile$$' -fuzztime $(FUZZTIME) ./collectors/azurerbac/
	$(GO) test -run '^$$' -fuzz '^FuzzAzureMatch$$' -fuzztime $(FUZZTIME) ./policy/azure/
	$(GO) test -run '^$$' -fuzz '^FuzzWorkspacePage$$' -fuzztime $(FUZZTIME) ./collectors/workspace/
	$(GO) test -run '^$$' -fuzz '^FuzzGCPIAMFile$$' -fuzztime $(FUZZTIME) ./collectors/gcpiam/
	$(GO) test -run '^$$' -fuzz '^FuzzGCPPolicy$$' -fuzztime $(FUZZTIME) ./policy/gcp/
	$(GO) test -run '^$$' -fuzz '^FuzzCloudTrail$$' -fuzztime $(FUZZTIME) ./detect/cloudtrail/
	$(GO) test -run '^$$' -fuzz '^FuzzAzureActivity$$' -fuzztime $(FUZZTIME) ./detect/azureactivity/
	$(GO) test -run '^$$' -fuzz '^FuzzGraphActivity$$' -fuzztime $(FUZZTIME) ./detect/graphactivity/
	$(GO) test -run '^$$' -fuzz '^FuzzGCPAudit$$' -fuzztime $(FUZZTIME) ./detect/gcpaudit/
	$(GO) test -run '^$$' -fuzz '^FuzzWorkspace$$' -fuzztime $(FUZZTIME) ./detect/workspace/
	$(GO) test -run '^$$' -fuzz '^FuzzK8sAudit$$' -fuzztime $(FUZZTIME) ./detect/k8saudit/
	$(GO) test -run '^$$' -fuzz '^FuzzParseEvent$$' -fuzztime $(FUZZTIME) ./detect/k8saudit/
	$(GO) test -run '^$$' -fuzz '^FuzzObjectDetails$$' -fuzztime $(FUZZTIME) ./detect/k8saudit/
	$(GO) test -run '^$$' -fuzz '^FuzzScan$$' -fuzztime $(FUZZTIME) ./detect/internal/jsonscan/
	$(GO) test -run '^$$' -fuzz '^FuzzStdString$$' -fuzztime $(FUZZTIME) ./detect/internal/jsonscan/
	$(GO) test -run '^$$' -fuzz '^FuzzRead$$' -fuzztime $(FUZZTIME) ./detect/read/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

clean:
	rm -rf bin permgraph-data

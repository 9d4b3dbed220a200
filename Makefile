.PHONY: test plan-dev plan-prod vet

# The README's test command.
test:
	./scripts/test

vet:
	go vet ./...

# Offline plans (no credentials, no network).
plan-dev:
	go run ./cmd/plan -stack dev

plan-prod:
	go run ./cmd/plan -stack prod -json

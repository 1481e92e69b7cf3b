# Convenience targets; each is one plain go command.
.PHONY: test demo build bench

# Every test: unit, store on SQLite and a throw-away PostgreSQL, the real
# binary, and the console in headless Chromium. Without PostgreSQL or
# Chromium those parts skip; with CI=true they fail.
test:
	go test -count=1 -timeout 20m ./...

demo:
	go run ./cmd/qorgau demo

build:
	go build -o qorgau ./cmd/qorgau

bench:
	go test -run XXX -bench . -benchtime 3x ./internal/registry

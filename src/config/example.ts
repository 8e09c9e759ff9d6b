/** What `--generate-config` writes: every section with its defaults and a comment on each choice. */
export const exampleConfigYaml = `# Cylestio Gateway configuration. Values may use \${VAR} and \${VAR:-default}.
# Precedence: command-line flags > this file > environment variables > defaults.
server:
  host: "0.0.0.0"
  port: 3000
  workers: 1
  max_body_size: 20971520        # bytes; larger requests answer 413
  # admin_token: "\${ADMIN_TOKEN}" # /config, /metrics, /sessions and /ui then need Authorization: Bearer <token>

llm:
  type: "openai"                 # openai | anthropic
  base_url: "https://api.openai.com"
  api_key: "\${OPENAI_API_KEY}"   # a client's own Authorization / x-api-key wins over this
  timeout: 30                    # seconds for the provider's headers and between streamed chunks
  max_retries: 3                 # only for connection failures, before any byte was sent

session:
  enabled: true
  max_sessions: 10000
  session_ttl_seconds: 3600
  fuzzy_matching: true
  fuzzy_threshold: 0.8
  fuzzy_max_diff: 2
  reset_phrases: ["start over", "new conversation", "clear chat"]
  min_messages_for_new_session: 3
  partition_by: "credential"     # credential | credential_and_client | none

interceptors:
  - type: rate_limit               # docs/rate-limiting.md
    enabled: false
    config: {per_session: {requests_per_minute: 60, tokens_per_hour: 200000, max_requests: 500}}
  - type: printer
    enabled: true
    config: {log_requests: true, log_responses: true, log_body: false, max_body_length: 1000}
  - type: trace
    enabled: true
    # segments: JSON lines, rotated at 64 MiB or an hour; files: one file per exchange (docs/interceptors.md)
    config: {directory: "./traces", include_headers: true, include_body: true, max_body_size: 1048576, file_prefix: "trace", layout: segments}
  - type: message_logger
    enabled: false
    config: {log_file: "message_logs/messages.jsonl", include_metadata: true}

logging:
  level: "INFO"                  # DEBUG | INFO | WARNING | ERROR
  format: "console"              # console | json
  file: "logs/gateway.log"       # null to log to stdout only
`;

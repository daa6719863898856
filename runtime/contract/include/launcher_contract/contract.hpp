#pragma once

// What the launcher on the host and launcher-init inside the container must agree on. One side
// writes each of these and the other reads it: a name changed here changes on both sides.
// Plain C strings: they convert to std::string and std::string_view alike.

namespace launcher::contract {

// The variables `docker run --env` hands launcher-init (none of them secret). Every variable
// starting with `prefix` is launcher-init's and is kept from the services it starts.
namespace env {
inline constexpr const char* prefix = "LAUNCHER_";
inline constexpr const char* service = "LAUNCHER_SERVICE"; // "jupyter", "ssh", "shell", "command" or "jupyter,ssh"
inline constexpr const char* uid = "LAUNCHER_UID";
inline constexpr const char* gid = "LAUNCHER_GID";
inline constexpr const char* user = "LAUNCHER_USER";
inline constexpr const char* workdir = "LAUNCHER_WORKDIR";
inline constexpr const char* sudo = "LAUNCHER_SUDO";                     // "1" on, "0" or unset off, as every switch
inline constexpr const char* read_only_root = "LAUNCHER_READ_ONLY_ROOT"; // accounts go to the extrausers files
inline constexpr const char* ssh_agent_forwarding = "LAUNCHER_SSH_AGENT_FORWARDING";
inline constexpr const char* ssh_stream_local_forwarding = "LAUNCHER_SSH_STREAM_LOCAL_FORWARDING";
inline constexpr const char* ssh_user_rc = "LAUNCHER_SSH_USER_RC";
inline constexpr const char* secrets_dir = "LAUNCHER_SECRETS_DIR";
// Whole seconds; unset: the env never stops itself (stop_reason.hpp says why it did).
inline constexpr const char* idle_stop_after = "LAUNCHER_IDLE_STOP_AFTER";
inline constexpr const char* idle_gpu_util_below = "LAUNCHER_IDLE_GPU_UTIL_BELOW"; // percent, 1-100
inline constexpr const char* max_age = "LAUNCHER_MAX_AGE";
// Profile key "backup"; unset LAUNCHER_BACKUP_TO: no backups. The env's own repository,
// "s3://BUCKET/PREFIX/ENV" (the launcher appends the env's name to the profile's "to").
inline constexpr const char* backup_to = "LAUNCHER_BACKUP_TO";
inline constexpr const char* backup_paths = "LAUNCHER_BACKUP_PATHS";       // a JSON array of absolute paths
inline constexpr const char* backup_every = "LAUNCHER_BACKUP_EVERY";       // whole seconds
inline constexpr const char* backup_keep = "LAUNCHER_BACKUP_KEEP";         // complete versions kept, >= 1
inline constexpr const char* backup_endpoint = "LAUNCHER_BACKUP_ENDPOINT"; // unset: AWS's own
// Read by launcher-init only; the launcher leaves them at their defaults.
inline constexpr const char* root = "LAUNCHER_ROOT";
inline constexpr const char* listen_address = "LAUNCHER_LISTEN_ADDRESS";
inline constexpr const char* jupyter_port = "LAUNCHER_JUPYTER_PORT";
inline constexpr const char* ssh_port = "LAUNCHER_SSH_PORT";
inline constexpr const char* stop_timeout = "LAUNCHER_STOP_TIMEOUT";
// rclone's --retries (whole tries of a failed transfer), 1-100, unset: 3; the e2e tests set 1.
inline constexpr const char* backup_retries = "LAUNCHER_BACKUP_RETRIES";
} // namespace env

// Mount points inside the container.
namespace mount {
// A tmpfs: Jupyter writes its token into runtime files, which must never land on a volume.
inline constexpr const char* runtime_dir = "/run/launcher";
// The read-only bind mount of the host's secrets. It belongs to the host user, whose uid the user
// inside shares, so launcher-init makes its parent root-only before anything of the user runs.
inline constexpr const char* secrets_dir = "/run/launcher/root-only/secrets";
// The last backup's outcome as JSON (launcher-init writes it atomically; `launcher ps` reads it):
// {"version", "finished_at": "2026-12-07T01:15:00Z", "result": "ok" or "failed", "message", "files",
// "bytes", "seconds"}.
inline constexpr const char* backup_status = "/run/launcher/backup-status.json";
} // namespace mount

// The files of the secrets directory (0600 on the host, written by the launcher).
namespace secret_file {
inline constexpr const char* jupyter_token = "jupyter_token";
inline constexpr const char* jupyter_password_hash = "jupyter_password_hash";
inline constexpr const char* ssh_host_key = "ssh_host_ed25519_key";
inline constexpr const char* ssh_host_public_key = "ssh_host_ed25519_key.pub";
inline constexpr const char* authorized_keys = "authorized_keys";
inline constexpr const char* user_password_hash = "user_password_hash";
// One AWS shared-credentials profile's keys, as JSON: {"aws_access_key_id", "aws_secret_access_key",
// "aws_session_token" (optional), "region" (optional)}.
inline constexpr const char* backup_credentials = "backup_credentials";
} // namespace secret_file

// Labels: on the containers the launcher makes (the source of truth for `ps`, `down`, `up`), and
// on the images images/Dockerfile builds (what `doctor` decides compatibility from).
namespace label {
inline constexpr const char* prefix = "io.launcher.";
inline constexpr const char* env = "io.launcher.env";
inline constexpr const char* profile = "io.launcher.profile";
inline constexpr const char* plan_hash = "io.launcher.plan-hash";
// The absolute directory `up` ran in: `down` without ENV acts only on an env made there.
inline constexpr const char* project_dir = "io.launcher.project-dir";
// "all", "0,1" or "none": lets `ps` show GPUs from one `docker ps`, without an inspect.
inline constexpr const char* gpus = "io.launcher.gpus";
inline constexpr const char* network = "io.launcher.network"; // on shared networks the launcher made
// The env's backup repository ("s3://BUCKET/PREFIX/ENV"): `ps` knows which envs back up without an inspect.
inline constexpr const char* backup = "io.launcher.backup";
inline constexpr const char* snapshot_of = "io.launcher.snapshot-of";
inline constexpr const char* base_digest = "io.launcher.base-digest";
inline constexpr const char* snapshot_time = "io.launcher.snapshot-time";
inline constexpr const char* image_torch = "io.launcher.torch";
inline constexpr const char* image_cuda = "io.launcher.cuda";
// The devel variant's nvcc, older than the CUDA runtime the wheels load (minor-version compatibility).
inline constexpr const char* image_nvcc = "io.launcher.nvcc";
inline constexpr const char* image_cudnn = "io.launcher.cudnn";
inline constexpr const char* image_nccl = "io.launcher.nccl";
inline constexpr const char* image_cuda_archs = "io.launcher.cuda-archs";
inline constexpr const char* image_min_driver = "io.launcher.min-driver";
} // namespace label

} // namespace launcher::contract

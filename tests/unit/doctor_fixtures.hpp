#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "doctor/snapshot.hpp"
#include "facts/facts.hpp"
#include "gpu/inventory.hpp"
#include "matrix/matrix.hpp"
#include "replay_engine.hpp"

namespace launcher::testing {

// tests/fixtures/<relative>; LAUNCHER_FIXTURES_DIR is set by the build.
inline std::filesystem::path fixture(const std::string& relative) {
  return std::filesystem::path(LAUNCHER_FIXTURES_DIR) / relative;
}

// Replays fixture folders (first answer wins) and counts the questions asked.
class FixtureFacts : public facts::FactSource {
public:
  explicit FixtureFacts(const std::vector<std::string>& folders) : replay_(paths(folders)) {}

  facts::Fact command(const std::string& name, const std::vector<std::string>& argv) override {
    asked.push_back(name);
    return replay_.command(name, argv);
  }
  facts::Fact file(const std::string& name, const std::filesystem::path& path) override {
    asked.push_back(name);
    return replay_.file(name, path);
  }
  facts::Fact listing(const std::string& name, const std::vector<std::filesystem::path>& directories) override {
    asked.push_back(name);
    return replay_.listing(name, directories);
  }
  facts::Fact names(const std::string& name, const std::filesystem::path& directory) override {
    asked.push_back(name);
    return replay_.names(name, directory);
  }

  std::vector<std::string> asked;

private:
  static std::vector<std::filesystem::path> paths(const std::vector<std::string>& folders) {
    std::vector<std::filesystem::path> result;
    for (const auto& folder : folders)
      result.push_back(fixture(folder));
    return result;
  }
  facts::DirectoryFactSource replay_;
};

inline doctor::Subject gpu_subject(const std::string& image,
                                   plan::GpuAssignment gpus = {plan::GpuAssignment::Kind::all, {}}) {
  doctor::Subject subject;
  subject.image = image;
  subject.gpus = std::move(gpus);
  subject.shm_size_bytes = 32ULL << 30;
  return subject;
}

// Everything doctor would gather from these folders for this subject.
inline doctor::HostSnapshot snapshot_of(const std::vector<std::string>& folders, const doctor::Subject& subject) {
  FixtureFacts facts(folders);
  facts::HostQueries queries(facts, replay_engine());
  return doctor::gather_doctor_facts(queries, subject, matrix::embedded_matrix());
}

// The GPUs of a recorded or constructed host, as `up` and `doctor` read them.
inline gpu::GpuInventory inventory_of(const std::string& folder) {
  FixtureFacts facts({folder});
  facts::HostQueries queries(facts, replay_engine());
  return gpu::read_gpu_inventory(queries);
}

} // namespace launcher::testing

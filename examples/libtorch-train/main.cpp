// A training loop as it runs in the container: synthetic regression data, Adam, mixed
// precision (BF16 autocast), and a checkpoint in a directory meant to be a mounted volume, so
// a stopped container resumes where it left off. SIGTERM (docker stop) and SIGINT stop at the
// next step boundary after writing the checkpoint.
//
//   libtorch-train --steps 200 --checkpoint-dir /workspace/checkpoints [--stop-after N]

#include "autocast_scope.hpp"

#include <torch/torch.h>

#include <charconv>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr int input_features = 32;
constexpr int batch_size = 64;
constexpr int checkpoint_every = 10;
constexpr std::uint64_t data_seed = 1234;

volatile std::sig_atomic_t stop_requested = 0;

void request_stop(int) { stop_requested = 1; }

struct Options {
  int steps = 200;
  std::filesystem::path checkpoint_dir = "checkpoints";
  // Stop after this many steps of this run, as a signal would: a deterministic interruption.
  std::optional<int> stop_after;
};

int parse_count(std::string_view option, std::string_view text) {
  int value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc{} || end != text.data() + text.size() || value < 1) {
    throw std::invalid_argument(std::string(option) + ": expected a positive integer, found '" + std::string(text) +
                                "'");
  }
  return value;
}

Options parse_options(const std::vector<std::string_view>& arguments) {
  Options options;
  for (std::size_t index = 0; index < arguments.size(); ++index) {
    if (index + 1 >= arguments.size()) {
      throw std::invalid_argument(std::string(arguments[index]) + ": missing value (see the header of main.cpp)");
    }
    const std::string_view option = arguments[index];
    const std::string_view value = arguments[++index];
    if (option == "--steps") {
      options.steps = parse_count(option, value);
    } else if (option == "--checkpoint-dir") {
      options.checkpoint_dir = std::string(value);
    } else if (option == "--stop-after") {
      options.stop_after = parse_count(option, value);
    } else {
      throw std::invalid_argument("unknown option '" + std::string(option) + "'");
    }
  }
  return options;
}

// A batch is a function of its step alone, so a resumed run sees the same data as an
// uninterrupted one. The targets come from a fixed linear teacher plus noise.
std::pair<torch::Tensor, torch::Tensor> synthetic_batch(int step) {
  torch::manual_seed(data_seed);
  const torch::Tensor teacher = torch::randn({input_features, 1});
  torch::manual_seed(data_seed + 1 + static_cast<std::uint64_t>(step));
  const torch::Tensor inputs = torch::randn({batch_size, input_features});
  const torch::Tensor targets = inputs.matmul(teacher) + 0.1 * torch::randn({batch_size, 1});
  return {inputs, targets};
}

torch::nn::Sequential make_model() {
  torch::manual_seed(0);
  return torch::nn::Sequential(torch::nn::Linear(input_features, 64), torch::nn::ReLU(), torch::nn::Linear(64, 1));
}

std::filesystem::path checkpoint_file(const Options& options) { return options.checkpoint_dir / "checkpoint.pt"; }

// Written to a temporary file and renamed over the old one, so a crash mid-write leaves the
// previous checkpoint intact.
void save_checkpoint(const Options& options, torch::nn::Sequential& model, torch::optim::Adam& optimizer, int step) {
  torch::serialize::OutputArchive model_archive;
  model->save(model_archive);
  torch::serialize::OutputArchive optimizer_archive;
  optimizer.save(optimizer_archive);
  torch::serialize::OutputArchive archive;
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("step", torch::tensor(static_cast<std::int64_t>(step)));

  std::filesystem::create_directories(options.checkpoint_dir);
  const std::filesystem::path temporary = checkpoint_file(options).string() + ".tmp";
  archive.save_to(temporary.string());
  std::filesystem::rename(temporary, checkpoint_file(options));
}

// Returns the step to continue from: 0 without a checkpoint.
int load_checkpoint(const Options& options, torch::nn::Sequential& model, torch::optim::Adam& optimizer,
                    const torch::Device& device) {
  if (!std::filesystem::exists(checkpoint_file(options))) {
    return 0;
  }
  torch::serialize::InputArchive archive;
  archive.load_from(checkpoint_file(options).string(), device);
  torch::serialize::InputArchive model_archive;
  archive.read("model", model_archive);
  model->load(model_archive);
  torch::serialize::InputArchive optimizer_archive;
  archive.read("optimizer", optimizer_archive);
  optimizer.load(optimizer_archive);
  torch::Tensor step;
  archive.read("step", step);
  return static_cast<int>(step.item<std::int64_t>());
}

int train(const Options& options) {
  const torch::Device device = torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  torch::nn::Sequential model = make_model();
  model->to(device);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-2));
  const int first_step = load_checkpoint(options, model, optimizer, device);
  if (first_step >= options.steps) {
    std::cout << "the checkpoint is at step " << first_step << ": nothing left to train\n";
    return 0;
  }
  if (first_step > 0) {
    std::cout << "resumed from step " << first_step << " (" << checkpoint_file(options).string() << ")\n";
  }
  std::cout << "training on " << device << " with bfloat16 autocast\n";

  float loss_value = 0.0F;
  for (int step = first_step; step < options.steps; ++step) {
    const auto [inputs, targets] = synthetic_batch(step);
    torch::Tensor predictions;
    {
      const AutocastScope autocast(device.type(), torch::kBFloat16);
      predictions = model->forward(inputs.to(device));
    }
    // The loss and the backward pass run in FP32, outside the autocast scope.
    const torch::Tensor loss = torch::mse_loss(predictions.to(torch::kFloat), targets.to(device));
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    loss_value = loss.item<float>();

    const int completed = step + 1;
    if (completed % checkpoint_every == 0 || completed == options.steps) {
      std::cout << "step " << completed << " loss " << loss_value << "\n";
    }
    const bool interrupted =
        stop_requested != 0 || (options.stop_after && completed - first_step >= *options.stop_after);
    if (interrupted || completed % checkpoint_every == 0 || completed == options.steps) {
      save_checkpoint(options, model, optimizer, completed);
    }
    if (interrupted && completed < options.steps) {
      std::cout << "stopped after step " << completed << "; checkpoint saved, run again to resume\n";
      return 0;
    }
  }
  // Nine significant digits round-trip a float, so equal lines mean bit-identical losses.
  std::printf("final loss %.9g after %d steps\n", static_cast<double>(loss_value), options.steps);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  std::signal(SIGTERM, request_stop);
  std::signal(SIGINT, request_stop);
  try {
    return train(parse_options(std::vector<std::string_view>(argv + 1, argv + argc)));
  } catch (const std::invalid_argument& error) {
    std::cerr << "libtorch-train: error: " << error.what() << "\n";
    return 2;
  } catch (const std::exception& error) {
    std::cerr << "libtorch-train: error: " << error.what() << "\n";
    return 1;
  }
}

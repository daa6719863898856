// The SimpleNet of the LibTorch docs: Linear(784, 128) -> ReLU -> Linear(128, 10), moved to the
// GPU when there is one, run on one random input.

#include <torch/torch.h>

#include <iostream>

struct SimpleNetImpl : torch::nn::Module {
  SimpleNetImpl()
      : hidden(register_module("hidden", torch::nn::Linear(784, 128))),
        output(register_module("output", torch::nn::Linear(128, 10))) {}

  torch::Tensor forward(const torch::Tensor& input) { return output(torch::relu(hidden(input))); }

  torch::nn::Linear hidden;
  torch::nn::Linear output;
};
TORCH_MODULE(SimpleNet);

int main() {
  const torch::Device device = torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  SimpleNet net;
  net->to(device);
  const torch::Tensor result = net->forward(torch::randn({1, 784}, device));
  std::cout << "output shape " << result.sizes() << " on " << result.device() << "\n";
}

#include <catch2/catch.hpp>

#include "profile/gpu_request.hpp"

using namespace launcher::profile;
using nlohmann::json;
using Kind = GpuRequest::Kind;

TEST_CASE("GPU specs in every accepted form", "[profile][gpus]") {
  CHECK(parse_gpu_request("all").kind == Kind::all);
  CHECK(parse_gpu_request("none").kind == Kind::none);
  CHECK(parse_gpu_request("auto").kind == Kind::automatic);
  CHECK(parse_gpu_request(2) == GpuRequest{Kind::count, 2, {}});
  CHECK(parse_gpu_request("2") == GpuRequest{Kind::count, 2, {}});
  CHECK(parse_gpu_request(json{{"count", 2}}) == GpuRequest{Kind::select, 2, {}});
  CHECK(parse_gpu_request(R"({"count": 2})") == GpuRequest{Kind::select, 2, {}}); // as --gpus takes it
  CHECK(parse_gpu_request("device=0,1").devices == std::vector<std::string>{"0", "1"});
  CHECK(parse_gpu_request("\"device=0,1\"").devices == std::vector<std::string>{"0", "1"});
  CHECK(parse_gpu_request("0,1").devices == std::vector<std::string>{"0", "1"});
  CHECK(parse_gpu_request(json::array({0, 3})).devices == std::vector<std::string>{"0", "3"});
  CHECK(parse_gpu_request(json::array({"GPU-2a7e9f0c-1d3b-4c5e-8f6a-0b1c2d3e4f5a"})).kind == Kind::devices);
  CHECK(parse_gpu_request("MIG-4b7a2f10-3c1d-5e6f-8a9b-0c1d2e3f4a5b").kind == Kind::devices);
  CHECK(parse_gpu_request("MIG-GPU-2a7e9f0c-1d3b-4c5e-8f6a-0b1c2d3e4f5a/1/0").kind == Kind::devices);
  CHECK(parse_gpu_request("0:1").devices == std::vector<std::string>{"0:1"});
}

TEST_CASE("GPU specs that do not parse say why", "[profile][gpus]") {
  auto reason = [](const json& value) {
    try {
      parse_gpu_request(value);
    } catch (const GpuSpecError& error) {
      return std::string(error.what());
    }
    return std::string("(parsed)");
  };
  CHECK(reason("device=0,,1") == "empty entry in the device list");
  CHECK(reason("device=") == "empty entry in the device list");
  CHECK(reason(json::array({0, -1})) == "negative GPU index -1");
  CHECK(reason("-1") == "negative GPU index -1");
  CHECK(reason(0) == "the GPU count must be at least 1 (use \"none\" for no GPU)");
  CHECK(reason(-2) == "the GPU count must be at least 1 (use \"none\" for no GPU)");
  CHECK(reason(json{{"count", 0}}) == "the GPU count must be at least 1 (use \"none\" for no GPU)");
  CHECK(reason(5000) == "a GPU count of 5000 is not plausible");
  CHECK(reason(json{{"cnt", 2}}) == "an object must be exactly {\"count\": N}");
  CHECK(reason(R"({"cnt": 2})") == "an object must be exactly {\"count\": N}");
  CHECK(reason(R"({"count": 2)") == "an object must be exactly {\"count\": N}, in JSON");
  CHECK(reason(R"({"count": "{\"count\": 2}"})") == "an object must be exactly {\"count\": N}");
  CHECK(reason("GPU-xyz") == "\"GPU-xyz\" is not a GPU index, GPU UUID or MIG UUID");
  CHECK(reason("0,0") == "GPU 0 is listed twice");
  CHECK(reason(json::array()) == "the device list is empty");
  CHECK(reason(json::array({true})) == "list entries must be GPU indices or UUIDs");
  CHECK(reason(true) == "wrong type");
}

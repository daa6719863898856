#include "run.hpp"

int main(int argc, char** argv, char** envp) { return launcher_init::run(argc, argv, envp); }

#include "cli/app.hpp"

int main(int argc, char** argv) { return launcher::cli::run_main(argc, argv); }

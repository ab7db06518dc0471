#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"hx: keep one folder identical across devices"};
  CLI11_PARSE(app, argc, argv);
  return 0;
}

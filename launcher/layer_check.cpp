// The entry point of the layer link checks (launcher/CMakeLists.txt): they are linked, never run.
int main() { return 0; }

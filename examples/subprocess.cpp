// subprocess: the seeds' subprocess program (seeds/002, section "subprocess"), ported.
// It runs a command and prints its output and exit code (subprocess.call),
// then feeds another one input and captures its output (Popen.communicate).
// There is no network here, so a small shell script stands in for nslookup: it
// reads the same commands from stdin. Then, like seeds/004's
// Popen("adb devices", stdout=PIPE, stderr=STDOUT).stdout.readlines(), a port
// actor runs a command whose stderr is merged into stdout and reads its lines.
//
// Build and run (from the repository root):
//   cmake -S . -B build -G Ninja && ninja -C build subprocess && ./build/examples/subprocess
// Prints:
//   $ uname -s
//   Linux
//   Exit code: 0
//   $ nslookup   (input: set q=mx / python.org / exit)
//   > query type mx for python.org
//   Exit code: 0
//   $ sleep 10   (timeout=0.2)
//   TimeoutExpired: timeout: the command did not finish within 200 ms
//   $ adb devices   (stderr=STDOUT, readlines)
//   ['List of devices attached', 'emulator-5554	device']
//   port exited: normal

#include <actorproc/actorproc.hpp>

#include <cstdio>
#include <string>

using namespace std::chrono_literals;

// Reads nslookup's interactive commands: "set q=<type>", a name, "exit".
constexpr const char* nslookup_stand_in =
    "type=a; while read cmd; do case $cmd in"
    "  'set q='*) type=${cmd#set q=} ;;"
    "  exit) exit 0 ;;"
    "  *) echo \"> query type $type for $cmd\" ;;"
    "esac; done";

int main(int argc, char** argv) {
  actorproc::entry_table actors;
  actorproc::add_port(actors);
  if (auto rc = actorproc::run_if_worker(actors, argc, argv)) return *rc;

  // r = subprocess.call(['uname', '-s'])
  std::printf("$ uname -s\n");
  auto r = actorproc::run_command({"uname", "-s"}).value();
  std::printf("%sExit code: %d\n", r.out.c_str(), r.returncode());

  // p = Popen(['nslookup'], stdin=PIPE, stdout=PIPE, stderr=PIPE)
  // output, err = p.communicate(b'set q=mx\npython.org\nexit\n')
  std::printf("$ nslookup   (input: set q=mx / python.org / exit)\n");
  auto p = actorproc::run_command({"/bin/sh", "-c", nslookup_stand_in}, {.input = "set q=mx\npython.org\nexit\n"});
  if (!p) return 1;
  std::printf("%sExit code: %d\n", p->out.c_str(), p->returncode());

  // subprocess.run(['sleep', '10'], timeout=0.2) raises TimeoutExpired; here it is a value.
  std::printf("$ sleep 10   (timeout=0.2)\n");
  auto slow = actorproc::run_command({"sleep", "10"}, {.timeout = 200ms});
  if (!slow) std::printf("TimeoutExpired: %s\n", to_string(slow.error()).c_str());

  // p = Popen("adb devices", shell=True, stdout=PIPE, stderr=STDOUT); p.stdout.readlines()
  // The port is an actor: its lines come as messages, its exit as its exit reason.
  actorproc::node node{actors};
  std::printf("$ adb devices   (stderr=STDOUT, readlines)\n");
  auto adb = actorproc::start_port(node, {.argv = {"/bin/sh", "-c",
                                                   "echo 'List of devices attached'; "
                                                   "printf 'emulator-5554\\tdevice\\n' >&2"},
                                          .err = actorproc::port_stderr::to_stdout})
                 .value();
  actorproc::port_client<actorproc::actor_handle> lines(adb);
  std::string list;
  while (auto line = lines.read(10s)) list += (list.empty() ? "'" : ", '") + *line + "'";
  std::printf("[%s]\n", list.c_str());
  auto why = adb.join(10s);
  std::printf("port exited: %s\n", why ? to_string(*why).c_str() : to_string(why.error()).c_str());
  return 0;
}

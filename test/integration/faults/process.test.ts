// Five fault runs with process faults: kill -9 and restart, SIGSTOP/SIGCONT (often the leader),
// leader transfer (weights in Nemesis.ts).
import { faultSuite } from "./FaultSuite.ts"

faultSuite("process", 5)

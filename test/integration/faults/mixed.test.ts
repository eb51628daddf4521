// Five fault runs with every kind of fault in the mix (weights in Nemesis.ts).
import { faultSuite } from "./FaultSuite.ts"

faultSuite("mixed", 5)

// Goal and method: see fresh-database.test.ts; this twin runs at the same time in another worker.
import { exerciseIsolation } from './isolation.ts';

exerciseIsolation('twin');

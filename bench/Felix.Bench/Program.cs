Console.WriteLine("Felix.Bench: no scenarios yet; the performance issue adds them.");
return 0;

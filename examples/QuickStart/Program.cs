System.Console.WriteLine(MLNet.SuperResolution.Placeholder.Probe());

"""Physics of the simulated chair: airbags, heat, drives, motors and the person sitting in it."""

module gorubench

go 1.19
